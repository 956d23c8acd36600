"""The evidence pack (make evidence): a dated, hashed, signed folder for the auditors."""
