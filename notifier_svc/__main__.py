"""python -m notifier_svc — wires settings, logging and the service; nothing else."""

from chartsnap.service_main import run_service
from notifier_svc.service import start_notifier_service
from notifier_svc.settings import NotifierSettings

if __name__ == "__main__":
    run_service("notifier_svc", NotifierSettings.from_env, start_notifier_service)
