"""What every page shares: templates, language, menu, forms, tables, the signed-in person, security, errors."""
