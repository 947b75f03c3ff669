"""All SQL of the console's tables, by table; typed rows out."""
