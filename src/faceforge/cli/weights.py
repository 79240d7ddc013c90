"""``faceforge weights``: list the known weight files, fetch them into the cache, verify and add files.
Thin wrappers over :mod:`faceforge.weights`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.progress import byte_progress

app = typer.Typer(
    name="weights",
    help="Known weight files (source, sha256, licence): list them, fetch them into the cache, verify, add.",
    no_args_is_help=True,
)

CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="The weights cache folder \\[default: $FACEFORGE_WEIGHTS_DIR, else "
        "$XDG_CACHE_HOME/faceforge/weights, else ~/.cache/faceforge/weights].",
        show_default=False,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]

TOFU_NOTE = (
    "Entries marked 'first use' have no published sha256: the hash of the first download is "
    "recorded in the cache manifest and every later fetch and verify is checked against it."
)


def _cache(cache: Path | None) -> Path:
    from faceforge.weights.cache import default_cache_dir

    return cache if cache is not None else default_cache_dir()


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    exponent = min((len(str(size)) - 1) // 3, 3)
    if exponent == 0:
        return f"{size} B"
    return f"{size / 1000**exponent:.1f} {('kB', 'MB', 'GB')[exponent - 1]}"


def _licence(licence: str, non_commercial: bool) -> str:
    return f"[yellow]{licence}[/]" if non_commercial else licence


_HASH_LABELS = {"pinned": "pinned", "recorded": "recorded", "trust-on-first-use": "first use"}


def _short_licence(licence: str, non_commercial: bool) -> str:
    """The licence in a table cell: its name without the explanation, or 'non-commercial'."""
    return "non-commercial" if non_commercial else licence.split(" (")[0]


def _listing(folder: Path) -> list[dict[str, object]]:
    """One record per known or added name: the schema of ``weights list --json``."""
    from faceforge.weights.cache import read_manifest
    from faceforge.weights.catalog import CATALOG

    records = read_manifest(folder)
    rows: list[dict[str, object]] = []
    for name, entry in CATALOG.items():
        record = records.get(name)
        if entry.sha256 is not None:
            sha256 = "pinned"
        else:
            sha256 = "recorded" if record is not None else "trust-on-first-use"
        rows.append({
            "name": name, "kind": entry.kind, "licence": entry.licence,
            "non_commercial": entry.non_commercial, "user_supplied": entry.user_supplied,
            "cached": record is not None and record.path(folder).is_file(),
            "size": record.size if record is not None else None, "sha256": sha256,
            "file": str(record.path(folder)) if record is not None else None,
        })  # fmt: skip
    for name in sorted(set(records) - set(CATALOG)):
        record = records[name]
        rows.append({
            "name": name, "kind": "added", "licence": None, "non_commercial": False, "user_supplied": True,
            "cached": record.path(folder).is_file(), "size": record.size, "sha256": "recorded",
            "file": str(record.path(folder)),
        })  # fmt: skip
    return rows


@app.command("list")
def list_weights(
    cache: CacheOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a stable schema).")] = False,
    debug: Debug = False,
) -> None:
    """The known weight files and the names added to the cache, with licence and hash status."""
    import json

    from rich import box

    with reported_errors(debug):
        folder = _cache(cache)
        rows = _listing(folder)
        if as_json:
            print(json.dumps({"cache": str(folder), "weights": rows}))
            return
        # Fits 80 columns with the longest name on one line: names never wrap, kinds are section rows.
        table = Table(title=f"Weights (cache: {folder})", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("name", no_wrap=True)
        table.add_column("licence", no_wrap=True)
        table.add_column("cached", justify="right", no_wrap=True)
        table.add_column("sha256", no_wrap=True)
        kind = None
        for row in sorted(rows, key=lambda r: (r["kind"] == "added", str(r["kind"]))):
            if row["kind"] != kind:
                kind = row["kind"]
                table.add_row(f"[bold]{kind}:[/]")
            licence = "(your file)" if row["licence"] is None else str(row["licence"])
            short = _short_licence(licence, bool(row["non_commercial"]))
            size = row["size"] if isinstance(row["size"], int) else None
            absent = "add" if row["user_supplied"] else "no"
            cached = _size(size) if row["cached"] else ("[red]missing[/]" if row["file"] else absent)
            table.add_row(
                str(row["name"]), f"[yellow]{short}[/]" if row["non_commercial"] else short, cached,
                _HASH_LABELS[str(row["sha256"])],
            )  # fmt: skip
        console = Console()
        console.print(table)
        console.print(
            TOFU_NOTE + " Licences in yellow forbid commercial use or are unknown; `weights list --json` "
            "gives each licence in full. 'add' marks a file faceforge cannot download: "
            "`weights fetch NAME` says where to get it.",
            highlight=False,
        )


@app.command()
def fetch(
    name: Annotated[str, typer.Argument(help="A name from `faceforge weights list`.", show_default=False)],
    url: Annotated[
        list[str] | None,
        typer.Option(
            help="Download from this URL instead of the catalog's mirrors (repeatable, tried in order)."
        ),
    ] = None,
    cache: CacheOption = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Download a known weight file into the cache (resumable), check its sha256 and record it."""
    from faceforge.errors import WeightsError
    from faceforge.weights.cache import read_manifest
    from faceforge.weights.catalog import CATALOG
    from faceforge.weights.download import check_downloadable
    from faceforge.weights.download import fetch as download

    console = Console(stderr=True, soft_wrap=True)
    kept = f"The partial download is kept; run `faceforge weights fetch {name}` again to resume it."
    with reported_errors(debug, stopped=kept):
        folder = _cache(cache)
        entry = CATALOG.get(name)
        if entry is None:
            raise WeightsError(
                f"'{name}' is not a known weights name; see `faceforge weights list`, or register a file you "
                f"have with `faceforge weights add FILE --as {name}`."
            )
        record = read_manifest(folder).get(name)
        if record is not None and record.path(folder).is_file() and not url:
            console.print(
                f"'{name}' is already cached at {record.path(folder)}; `faceforge weights verify {name}` "
                "re-checks its sha256.",
                highlight=False,
            )
            return
        check_downloadable(entry, url or ())
        console.print(
            f"Licence of '{name}': {_licence(entry.licence, entry.non_commercial)}", highlight=False
        )
        if entry.non_commercial:
            console.print("[yellow]Not for commercial use unless you have a licence from its owner.[/]")
        if entry.sha256 is None and record is None:
            console.print(
                "No sha256 is published for this file: its hash is recorded now (trust on first use)."
            )
        with byte_progress(f"fetch {name}", not quiet) as progress:
            record = download(entry, folder, url or (), progress)
        console.print(
            f"Saved {record.path(folder)} ({_size(record.size)}, sha256 {record.sha256}).", highlight=False
        )


@app.command()
def verify(
    names: Annotated[
        list[str] | None, typer.Argument(help="Cached names to check \\[default: all].", show_default=False)
    ] = None,
    cache: CacheOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (a stable schema).")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Re-hash cached files against the catalog's sha256 or the one recorded when they were cached."""
    import json

    from faceforge.errors import WeightsError
    from faceforge.weights.verify import verify_cached

    console = Console()
    with reported_errors(debug):
        folder = _cache(cache)
        with byte_progress("verify", not quiet and not as_json) as progress:

            def on_file(name: str, path: Path) -> Callable[[int], None] | None:
                if progress is None:
                    return None
                total = path.stat().st_size
                return lambda done: progress(done, total)

            checks = verify_cached(folder, names or (), on_file)
        if as_json:
            print(json.dumps({"cache": str(folder), "checks": [
                {"name": c.name, "status": c.status, "file": str(c.path) if c.path else None,
                 "expected": c.expected, "actual": c.actual} for c in checks
            ]}))  # fmt: skip
        table = Table(title=f"Verified weights (cache: {folder})")
        table.add_column("name", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("file", overflow="fold")
        styles = {"ok": "green", "mismatch": "red", "missing": "red", "not cached": "red"}
        for check in checks:
            table.add_row(check.name, f"[{styles[check.status]}]{check.status}[/]", str(check.path or ""))
        if not as_json:
            console.print(table)
        failed = [f"{check.name} ({check.status})" for check in checks if not check.ok]
        if failed:
            raise WeightsError(
                f"{len(failed)} of {len(checks)} weights failed verification: {', '.join(failed)}."
            )
        if not checks and not as_json:
            console.print(f"The cache {folder} holds no weights yet.", highlight=False)


@app.command()
def add(
    file: Annotated[Path, typer.Argument(help="A weight file you already have.", show_default=False)],
    as_name: Annotated[
        str,
        typer.Option("--as", help="The name to use it by (a catalog name, or your own).", show_default=False),
    ],
    cache: CacheOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary line (errors still shown).")
    ] = False,
    debug: Debug = False,
) -> None:
    """Copy a weight file into the cache under a name and record its sha256.

    A catalog name with a pinned sha256 accepts only the exact published file."""
    from faceforge.weights.add import add_file
    from faceforge.weights.catalog import CATALOG

    console = Console(stderr=True, soft_wrap=True, quiet=quiet)
    with reported_errors(debug):
        folder = _cache(cache)
        record = add_file(file, as_name, folder)
        entry = CATALOG.get(as_name)
        check = "matches the catalog" if entry is not None and entry.sha256 else "recorded"
        console.print(
            f"Added {file} as '{as_name}': {record.path(folder)} (sha256 {record.sha256}, {check}).",
            highlight=False,
        )
