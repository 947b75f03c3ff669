from pingan_shared.service import run_service

from patrol.bootstrap import bootstrap


def main() -> None:
    run_service(bootstrap(), "PATROL_HTTP_PORT")


if __name__ == "__main__":
    main()
