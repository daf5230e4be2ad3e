"""The replay's progress bar: in place on a terminal, whole lines in a log."""

import io

from tonypi_projector.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_redraws_in_place():
    out = Terminal()
    bar = ProgressBar(10, out=out)
    bar.advance(4, force=True)
    bar.finish()
    assert out.getvalue().count("\r") == 2
    assert out.getvalue().endswith("ev/s\n")
    assert "40%" in out.getvalue()


def test_in_a_log_each_report_is_a_whole_line():
    out = io.StringIO()
    bar = ProgressBar(10, out=out)
    bar.advance(4, force=True)
    bar.advance(6, force=True)
    bar.finish()
    lines = out.getvalue().splitlines(keepends=True)
    assert "\r" not in out.getvalue()
    assert [line.endswith("\n") for line in lines] == [True, True, True]
    assert "4/10" in lines[0] and "10/10" in lines[1]
