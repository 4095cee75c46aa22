"""``make bench``: the sweep's API calls, time, memory and continuations over registries of growing size (moto)."""
