"""Jobs: collection, backfill and report tasks, and the daemon that schedules them."""
