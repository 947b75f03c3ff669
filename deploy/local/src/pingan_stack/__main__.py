from pingan_stack.cli import app

app()
