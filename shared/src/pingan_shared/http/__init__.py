"""HTTP edge shared by every service: app factory, auth dependency, error shape, limits."""
