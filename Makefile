# Pinned generator versions: `make proto` installs exactly these.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GOBIN ?= $(shell go env GOPATH)/bin

.PHONY: proto proto-tools test build

proto-tools:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler (3.21.x)"; exit 1; }
	GOBIN=$(GOBIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(GOBIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

proto: proto-tools
	PATH=$(GOBIN):$$PATH protoc -I proto --go_out=proto --go_opt=paths=source_relative \
		--go-grpc_out=proto --go-grpc_opt=paths=source_relative proto/cohort.proto

build:
	go build -o bin/cohort ./cmd/cohort

test:
	go test -count=1 ./...
