# auth signals (log-in, log-out, lock-out) are wired in the audit feature work
