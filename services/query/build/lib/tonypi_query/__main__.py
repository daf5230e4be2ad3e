"""`tonypi-query`: the operators' REST API."""

from tonypi_runtime.entrypoint import run_service

from .bootstrap import serve


def main() -> None:
    run_service("tonypi-query", serve)


if __name__ == "__main__":
    main()
