"""The long proofs (make prove): faults, hostile input and load against real processes, each bounded in time."""
