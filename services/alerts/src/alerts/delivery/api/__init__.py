"""HTTP routes of delivery: the contacts directory (admins), the per-person inbox, the live stream."""
