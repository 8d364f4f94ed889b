# Lithops runtime images with ionscape installed, one build target per compute backend.
#
# Build and publish with Lithops from the repository root (Lithops adds its own handler zip to
# the build context; the extra argument after the name selects the target, see docs/cloud.md):
#
#   lithops runtime build -b aws_lambda   -f Dockerfile ionscape-runtime:0.1 --target aws_lambda
#   lithops runtime build -b code_engine  -f Dockerfile docker.io/USER/ionscape-runtime:0.1 --target code_engine
#   lithops runtime build -b gcp_cloudrun -f Dockerfile ionscape-runtime:0.1 --target gcp_cloudrun
#   lithops runtime build -b k8s          -f Dockerfile docker.io/USER/ionscape-runtime:0.1 --target k8s
#
# Needs Docker with BuildKit (the default builder since Docker 23), so that only the chosen
# target's stages are built. The image's Python minor version and Lithops version must equal
# the client's (Python 3.11, Lithops 3.8.0 here).

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS base
ARG LITHOPS_EXTRAS=aws,gcp,ibm,kubernetes,redis,minio
RUN apt-get update \
    && apt-get install -y --no-install-recommends zip unzip \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 \
    PIP_NO_CACHE_DIR=1
# the package (compiled dependencies: numpy, numba, cpyMSpec, pyarrow) and the storage SDKs
COPY pyproject.toml README.md /opt/ionscape/
COPY src /opt/ionscape/src
RUN pip install --upgrade pip \
    && pip install "lithops[${LITHOPS_EXTRAS}]==3.8.0" /opt/ionscape \
    && python -c "import ionscape.pipeline.job, ionscape.kernels.scoring, lithops.worker"

# AWS Lambda: the Lambda runtime interface client runs Lithops' handler
FROM base AS aws_lambda
RUN pip install awslambdaric
WORKDIR /function
COPY lithops_lambda.zip .
RUN unzip lithops_lambda.zip && rm lithops_lambda.zip \
    && mkdir handler && touch handler/__init__.py && mv entry_point.py handler/
ENTRYPOINT ["/usr/local/bin/python", "-m", "awslambdaric"]
CMD ["handler.entry_point.lambda_handler"]

# IBM Code Engine: job runs start Lithops' entry point; the web server is for the app mode
FROM base AS code_engine
RUN pip install gunicorn flask gevent
ENV PORT=8080 CONCURRENCY=1 TIMEOUT=600 APP_HOME=/lithops
WORKDIR /lithops
COPY lithops_codeengine.zip .
RUN unzip lithops_codeengine.zip && rm lithops_codeengine.zip
CMD ["sh", "-c", "exec gunicorn --bind :$PORT --workers $CONCURRENCY --timeout $TIMEOUT lithopsentry:proxy"]

# Google Cloud Run: an HTTP service on $PORT
FROM base AS gcp_cloudrun
RUN pip install gunicorn flask gevent
ENV PORT=8080 CONCURRENCY=1 TIMEOUT=600 APP_HOME=/lithops
WORKDIR /lithops
COPY lithops_cloudrun.zip .
RUN unzip lithops_cloudrun.zip && rm lithops_cloudrun.zip
CMD ["sh", "-c", "exec gunicorn --bind :$PORT --workers $CONCURRENCY --timeout $TIMEOUT lithopsproxy:proxy"]

# Kubernetes: Lithops' job pods run /lithops/lithopsentry.py as a non-root user
FROM base AS k8s
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && pip install flask \
    && groupadd -g 1000 lithops && useradd -m -u 1000 -g 1000 lithops
ENV APP_HOME=/lithops
WORKDIR /lithops
COPY lithops_k8s.zip .
RUN unzip lithops_k8s.zip && rm lithops_k8s.zip && chown -R lithops:lithops /lithops
USER 1000:1000
