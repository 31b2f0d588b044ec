"""Work items: importers (Jira, GitHub, CSV, plugins), links to key results by hand or by rule, gap reports."""

from andon.okr.work.base import ImportBatch, ImportContext, ImporterSettings, WorkImporter, WorkImportError
from andon.okr.work.importing import ImportResult, import_work
from andon.okr.work.links import LinkRule, RuleReport, apply_rules, key_results_without_work, link, unlink, work
from andon.okr.work.registry import REGISTRY, build_importer
from andon.okr.work.workfile import WorkSetup, load_rules, load_work_file, run_work_file

__all__ = [
    "REGISTRY",
    "ImportBatch",
    "ImportContext",
    "ImportResult",
    "ImporterSettings",
    "LinkRule",
    "RuleReport",
    "WorkImportError",
    "WorkImporter",
    "WorkSetup",
    "apply_rules",
    "build_importer",
    "import_work",
    "key_results_without_work",
    "link",
    "load_rules",
    "load_work_file",
    "run_work_file",
    "unlink",
    "work",
]
