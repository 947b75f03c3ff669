"""What an alert, a policy and an escalation ladder are and may do: pure rules, no I/O."""
