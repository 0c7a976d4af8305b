import os

from django.core.wsgi import get_wsgi_application

from tongxin.cli import WORKER_BOOT_ERROR, explain_refusal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
application = explain_refusal(get_wsgi_application, status=WORKER_BOOT_ERROR)
