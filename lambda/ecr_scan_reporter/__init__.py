"""ecr_scan_reporter: keep Amazon ECR image scans fresh and report findings over thresholds."""

__version__ = "0.3.0"
