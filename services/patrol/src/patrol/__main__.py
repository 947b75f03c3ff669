from patrol.bootstrap import bootstrap
from pingan_shared.service_process import run_service


def main() -> None:
    run_service(bootstrap, "PATROL_HTTP_PORT")


if __name__ == "__main__":
    main()
