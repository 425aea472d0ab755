"""The 通报's PDF rendered in a child process: `python -m web.reports.pdf_child` reads one JSON request on stdin
({"html", "base_url", "identifier"}) and writes the PDF bytes to stdout.

Why a child: WeasyPrint (with pango, cairo, fontTools' subsetting of Noto CJK) grows the process that renders by
~50 MiB that the allocator keeps after the document is done, and a render takes seconds of CPU. In the service
that was a step of +25 % in RSS at the first sweep of the monthly timer and a stalled event loop (calls,
websockets, API) for the length of the render. The child gives its memory back when it exits.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from weasyprint import HTML

    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    document = HTML(string=request["html"], base_url=request["base_url"])
    sys.stdout.buffer.write(document.write_pdf(pdf_identifier=request["identifier"].encode(), uncompressed_pdf=False))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
