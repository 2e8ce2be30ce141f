"""Comparison report across finished runs, read from their run directories only."""
from slowfast.report.compare import build_report
from slowfast.report.rundir import ReportError

__all__ = ["ReportError", "build_report"]
