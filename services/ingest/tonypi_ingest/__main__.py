"""`tonypi-ingest`: MQTT robot messages -> events on NATS JetStream."""

from tonypi_runtime.entrypoint import run_service
from tonypi_runtime.gc_tuning import tune_for_throughput

from .bootstrap import main as serve


def main() -> None:
    tune_for_throughput()  # collections took a large share of ingest's CPU per message
    run_service("tonypi-ingest", serve)


if __name__ == "__main__":
    main()
