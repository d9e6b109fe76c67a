# plantfit: one GNU Makefile (see README.md for the commands).
#
#   make            build/plantfit and build/libplantfit.a
#   make deps       install missing Debian packages (idempotent, quiet when all are there)
#   make test       deps + every test: unit (-Werror), ASan+UBSan, valgrind, fuzz corpus replay,
#                   end-to-end train runs; ends with "N passed, N failed"
#   make asan       unit + end-to-end tests built with ASan+UBSan
#   make fuzz       libFuzzer targets in build-fuzz/ (FUZZ_SECONDS=60 make fuzz-run to fuzz)
#   make bench      benchmarks against the reference implementations
#   make demo       deps + train on datasets/ sample plant data under demo/
#   make install    PREFIX=/usr/local: bin/plantfit and bin/train

SHELL   := /bin/bash
PREFIX  ?= /usr/local
PKGS    := openblas lapacke hdf5-serial libcjson
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Werror=implicit-function-declaration -Wno-overlength-strings \
           -Wno-format-truncation
WERROR  ?= 1
ifeq ($(WERROR),1)
WARN    += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
INCLUDES   := -Ialgorithms/core -Iio -Imetrics -Ientrypoint
GIT_COMMIT_BUILD := $(shell git rev-parse HEAD 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(VARIANT_CFLAGS) -MMD -MP $(INCLUDES) \
             $(PKG_CFLAGS) -pthread
LDLIBS     = $(PKG_LIBS) -lcsv -lz -lcrypto -lm -pthread

LIB_SRC  := $(sort $(wildcard algorithms/*/*.c io/*/*.c metrics/*.c))
CLI_SRC  := $(sort $(wildcard entrypoint/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# Build variants live in their own directories so flags never mix.
B ?= build
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/obj/%.o)

.PHONY: all deps test unit asan valgrind fuzz fuzz-run bench bench-bin demo install clean lint lint-banned sample

all: $(B)/plantfit $(B)/libplantfit.a $(B)/test_runner

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libplantfit.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/plantfit: $(CLI_OBJ) $(B)/libplantfit.a
	$(CC) $(CFLAGS) $(VARIANT_CFLAGS) -o $@ $(CLI_OBJ) $(B)/libplantfit.a $(LDLIBS)

# Tests link the library and the entrypoint objects except main.c.
$(B)/test_runner: $(TEST_OBJ) $(filter-out $(B)/obj/entrypoint/main.o,$(CLI_OBJ)) $(B)/libplantfit.a
	$(CC) $(CFLAGS) $(VARIANT_CFLAGS) -o $@ $^ $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# The commit the binary was built from (used only when GIT_COMMIT is unset at
# run time is NOT done: see entrypoint/cmd_train.c; this is recorded as
# build_commit, separate from the commit ID of the training run).
$(B)/obj/entrypoint/version.o: VARIANT_CFLAGS += -DPF_BUILD_COMMIT='"$(GIT_COMMIT_BUILD)"'

deps:
	@bash scripts/deps.sh

unit: $(B)/test_runner
	$(B)/test_runner

test: deps
	@bash tests/run_all.sh

asan:
	$(MAKE) B=build-asan CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    VARIANT_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" all
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/test_runner
	PLANTFIT=build-asan/plantfit bash tests/e2e.sh

valgrind: $(B)/test_runner
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	    $(B)/test_runner

# libFuzzer targets: clang, ASan+UBSan, one binary per tests/fuzz/fuzz_<name>.c.
FUZZ_CC := clang
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all $(INCLUDES) $(PKG_CFLAGS)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

fuzz: $(FUZZ_BIN)

build-fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard algorithms/*/*.h io/*/*.h)
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/new-$$n; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS) s"; \
	  LSAN_OPTIONS=suppressions=tests/lsan.supp ASAN_OPTIONS=fast_unwind_on_malloc=0 \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build-fuzz/new-$$n tests/fuzz/corpus/$$n \
	      || exit 1; done

bench: deps all bench-bin
	bash tests/bench/run.sh

demo: deps all
	bash scripts/demo.sh

sample: all
	$(B)/plantfit sample-data --rows 10080 --seed 20261125 --out datasets

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/plantfit $(DESTDIR)$(PREFIX)/bin/plantfit
	ln -sf plantfit $(DESTDIR)$(PREFIX)/bin/train

lint-banned:
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atof)\(' \
	    $(LIB_SRC) $(CLI_SRC) || { echo "banned function used"; exit 1; }

lint: lint-banned
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	    $(INCLUDES) --suppress=missingIncludeSystem algorithms io metrics entrypoint

clean:
	rm -rf build build-asan build-fuzz demo

# Benchmark drivers: tests/bench/bench_<name>.c -> $(B)/bench_<name>
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/%)
$(B)/bench_%: tests/bench/bench_%.c $(B)/libplantfit.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libplantfit.a $(LDLIBS)
bench-bin: $(BENCH_BIN)

# The container (issue 6): Dockerfile.train built and run with podman/buildah,
# the Step Functions definition and the Jenkinsfile checked.  Its packages
# (podman, buildah, runc, debootstrap, strace, npm) come from
# scripts/deps-container.sh, not `make deps`.  `make image` builds
# localhost/plantfit:<commit> only (scripts/build-image.sh).
.PHONY: container-test image
container-test:
	@bash scripts/deps-container.sh
	@bash tests/container/run.sh

image:
	@bash scripts/deps-container.sh
	bash scripts/build-image.sh
