"""`tonypi-ingest`: MQTT robot messages -> events on NATS JetStream."""

from tonypi_runtime.entrypoint import run_service

from .bootstrap import main as serve


def main() -> None:
    run_service("tonypi-ingest", serve)


if __name__ == "__main__":
    main()
