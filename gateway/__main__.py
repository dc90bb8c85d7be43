"""python -m gateway — wires settings, logging and the server; nothing else."""

from chartsnap.service_main import run_service
from gateway.server import start_gateway
from gateway.settings import GatewaySettings

if __name__ == "__main__":
    run_service("gateway", GatewaySettings.from_env, start_gateway)
