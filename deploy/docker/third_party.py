"""Print the third-party requirements of the given package directories (their pyproject.toml
`dependencies`, our own tonypi-* packages left out), one per line.

The image builds install these first, from the pyproject files alone, so that a change to
our code reuses the layer of downloaded and built wheels instead of redoing it."""

import sys
import tomllib
from pathlib import Path

seen: list[str] = []
for directory in sys.argv[1:]:
    project = tomllib.loads((Path(directory) / "pyproject.toml").read_text())["project"]
    for requirement in project.get("dependencies", []):
        if not requirement.startswith("tonypi-") and requirement not in seen:
            seen.append(requirement)
print("\n".join(seen))
