"""`tonypi replay`: rebuild the read tables from the event stream and swap them in atomically."""

from __future__ import annotations

import argparse
import asyncio
import sys

from tonypi_runtime.config import ConfigError
from tonypi_runtime.logs import configure_logging
from tonypi_runtime.text import escape_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=2000, help="events per transaction (2000)")
    parser.add_argument(
        "--no-swap",
        action="store_true",
        help="build the staging schema and leave it, without touching the live tables",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .config import load_settings
    from .progress import ProgressBar
    from .replay import ReplayRefused, replay

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tonypi replay: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.batch_size < 1:
        print("tonypi replay: --batch-size must be at least 1", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, "WARNING" if args.quiet else settings.log_level)
    bar: ProgressBar | None = None

    def progress(n: int, total: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = ProgressBar(total)
        bar.total = total
        bar.advance(n)

    try:
        result = asyncio.run(
            replay(settings, batch_size=args.batch_size, on_progress=progress, swap=not args.no_swap)
        )
    except ReplayRefused as exc:
        print(f"tonypi replay: refused: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"tonypi replay: configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the live tables are untouched and the staging schema dropped
        reason = escape_text(f"{type(exc).__name__}: {exc}", 500)
        print(f"tonypi replay: failed, live tables unchanged: {reason}", file=sys.stderr)
        return 1
    if bar is not None:
        bar.finish()
    swapped = "kept in staging (--no-swap)" if args.no_swap else "swapped in"
    print(
        f"replayed {result.events:,} events up to sequence {result.last_seq} in {result.seconds:.1f}s "
        f"({result.rate:,.0f} events/s); tables {swapped}"
        + (f"; {result.lost} events were already gone from the stream" if result.lost else "")
        + (f"; pruned {result.pruned} logs past retention" if result.pruned else ""),
        file=sys.stderr,
    )
    return 0
