# Pingan: one image recipe for every service; the service is a build argument. From the repository root:
#   docker build --build-arg SERVICE=patrol --build-arg PORT=8001 -t pingan/patrol .
# (roster 8002, inspection 8003, alerts 8004; docker-compose.yml passes the same arguments.)
FROM python:3.11-slim AS build
ARG SERVICE
ARG PORT
RUN test -n "$SERVICE" && test -n "$PORT" \
  || { echo "build with --build-arg SERVICE=<patrol|roster|inspection|alerts> --build-arg PORT=<its port>"; exit 1; }
ENV UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
RUN pip install --no-cache-dir 'uv>=0.5'
WORKDIR /app
# The workspace needs every member's pyproject to resolve the lockfile.
COPY pyproject.toml uv.lock ./
COPY shared/ shared/
COPY services/ services/
COPY deploy/local/pyproject.toml deploy/local/pyproject.toml
COPY deploy/local/src/ deploy/local/src/
RUN uv sync --frozen --no-dev --no-editable --package "pingan-${SERVICE}"

FROM python:3.11-slim
ARG SERVICE
ARG PORT
RUN useradd --create-home --uid 10001 pingan
COPY --from=build /app/.venv /app/.venv
# The service reads <SERVICE>_HTTP_HOST / <SERVICE>_HTTP_PORT; a name built from an argument cannot be an
# ENV key, so the command below defaults them (all interfaces, the built-in port) unless they are set.
# Its /metrics (<SERVICE>_METRICS_PORT, 9001-9004) stays on the container's loopback unless
# <SERVICE>_METRICS_HOST says otherwise: docker-compose.yml and deploy/k8s open it to operators only.
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PINGAN_SERVICE=${SERVICE} PINGAN_SERVICE_PORT=${PORT}
USER pingan
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get(os.environ['PINGAN_SERVICE'].upper() + '_HTTP_PORT') or os.environ['PINGAN_SERVICE_PORT']; urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2)"]
CMD ["python", "-c", "import os, runpy; service = os.environ['PINGAN_SERVICE']; prefix = service.upper() + '_'; os.environ.setdefault(prefix + 'HTTP_HOST', '0.0.0.0'); os.environ.setdefault(prefix + 'HTTP_PORT', os.environ['PINGAN_SERVICE_PORT']); runpy.run_module(service, run_name='__main__', alter_sys=True)"]
