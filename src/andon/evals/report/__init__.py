"""Reports of a run: self-contained HTML, JUnit XML and Markdown for CI, JSON/CSV exports, terminal tables.

Every label comes from the message catalogue (``report.*`` ids), so each format speaks English or Korean.
"""

from andon.evals.report.export import read_json, report_from_dict, report_to_dict, write_csv, write_json
from andon.evals.report.html import render_html
from andon.evals.report.junit import junit_xml, write_junit
from andon.evals.report.markdown import summary_markdown
from andon.evals.report.terminal import print_comparison, print_summary

__all__ = [
    "junit_xml",
    "print_comparison",
    "print_summary",
    "read_json",
    "render_html",
    "report_from_dict",
    "report_to_dict",
    "summary_markdown",
    "write_csv",
    "write_json",
    "write_junit",
]
