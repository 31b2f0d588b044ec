"""CSV/TSV: each row becomes a record ``header: value`` (one paragraph per row, its line kept) and the
whole sheet a table in the structure."""

from __future__ import annotations

import csv
import io

from andon.knowledge.document import Block, ParsedDocument
from andon.knowledge.parsers.encoding import decode

VERSION = "1"


def parse_csv(data: bytes, delimiter: str = ",") -> ParsedDocument:
    """Rows as records; the first row is the header."""
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [row for row in reader]
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ParsedDocument("csv", VERSION, [], encoding=encoding)
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    blocks: list[Block] = []
    for number, row in enumerate(rows[1:], start=2):
        fields = [
            f"{header[i] if i < len(header) else f'column {i + 1}'}: {' '.join(v.split())}"
            for i, v in enumerate(row)
            if v.strip()
        ]
        if fields:
            blocks.append(Block("paragraph", "; ".join(fields), line=number, rows=[header, row]))
    return ParsedDocument("csv", VERSION, blocks, encoding=encoding, notes=[f"{len(rows) - 1} records"])


def parse_tsv(data: bytes) -> ParsedDocument:
    """Tab-separated values, as :func:`parse_csv`."""
    return parse_csv(data, delimiter="\t")
