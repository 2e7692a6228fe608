# The two commands of the README:
#   make run    install dependencies, build build/postroom (Release) and start `postroom serve` on ./data
#   make test   install test dependencies, build, and run the whole suite (Release, then ASan+UBSan)
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: run build test test-release test-sanitize deps clean format

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOSTROOM_TESTS=OFF
	cmake --build build -j $(JOBS) --target postroom

run: build
	./build/postroom serve --data-dir ./data $(ARGS)

test:
	scripts/test.sh

test-release:
	scripts/test.sh release

test-sanitize:
	scripts/test.sh sanitize

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'fuzz/*.cpp')

clean:
	rm -rf build build-sanitize
