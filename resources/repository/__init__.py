"""The only code that writes SQL: row lifecycles (`rows`) and paid-generation slots (`ledger`)."""
