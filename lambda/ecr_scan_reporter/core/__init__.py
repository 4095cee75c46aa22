"""What every stage may use: settings, AWS clients, logging, metrics, the scan ledger, the finding types, the scan
expiry, the SNS message and repository selection. Core imports only core."""
