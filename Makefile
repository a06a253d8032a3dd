# Thin wrapper over Meson + Ninja. `make` builds build/drover; see README.md.
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
DATA    ?= /var/lib/drover
MESON   ?= meson

.PHONY: all deps build up test unit asan e2e fuzz bench clean format

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/build.ninja:
	@bash scripts/deps.sh
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

up: deps build
	./$(BUILD)/drover up --data-dir $(DATA)

# Every suite, then one closing line "N passed, N failed" over all of them.
test: deps
	@bash scripts/test.sh

unit: build
	$(MESON) test -C $(BUILD) --suite unit --print-errorlogs

asan:
	@[ -f $(ASAN)/build.ninja ] || CC=clang $(MESON) setup $(ASAN) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN)
	$(MESON) test -C $(ASAN) --suite unit --print-errorlogs

e2e: build
	/usr/bin/python3 -m pytest -q tests/e2e

fuzz:
	@[ -f $(FUZZ)/build.ninja ] || CC=clang $(MESON) setup $(FUZZ) --buildtype=debug -Dfuzz=true -Db_lundef=false
	ninja -C $(FUZZ)

bench: build
	@bash bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
