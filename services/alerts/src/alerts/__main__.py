from alerts.bootstrap import bootstrap
from pingan_shared.service_process import run_service


def main() -> None:
    run_service(bootstrap, "ALERTS_HTTP_PORT")


if __name__ == "__main__":
    main()
