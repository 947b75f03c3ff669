from pingan_shared.service_process import run_service
from roster.bootstrap import bootstrap


def main() -> None:
    run_service(bootstrap, "ROSTER_HTTP_PORT")


if __name__ == "__main__":
    main()
