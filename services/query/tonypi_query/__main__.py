"""`tonypi-query`: the operators' REST API."""

from tonypi_runtime.entrypoint import run_service
from tonypi_runtime.gc_tuning import tune_for_throughput

from .bootstrap import serve


def main() -> None:
    tune_for_throughput()  # a full collection walked every schema and module: the API's tail latency
    run_service("tonypi-query", serve)


if __name__ == "__main__":
    main()
