"""roster: members, rotation periods, shifts and attendance (this issue: attendance from scans)."""
