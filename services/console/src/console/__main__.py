import sys

from console.bootstrap import bootstrap
from pingan_shared.auth import UnusableKey
from pingan_shared.service import Service
from pingan_shared.service_process import run_service


def _build() -> Service:
    try:
        return bootstrap()
    except UnusableKey as exc:  # the issuer cannot issue: refuse to start, saying what to set
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    run_service(_build, "CONSOLE_HTTP_PORT")


if __name__ == "__main__":
    main()
