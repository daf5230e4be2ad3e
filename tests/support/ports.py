from tonypi_cli.ports import free_loopback_port as free_port

__all__ = ["free_port"]
