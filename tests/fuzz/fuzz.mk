# tests/fuzz/fuzz.mk - the libFuzzer harnesses, built with clang and
# -fsanitize=fuzzer,address,undefined; `make fuzz` in the build directory
# runs this with the variables below. The modules under test are compiled
# again with the fuzzer's coverage instrumentation (into tests/fuzz/obj).
#   srcdir, builddir   absolute top source and build directories
#   LIB_SOURCES        libdredis.a's sources (src/...; the .c ones are used)
#   CLANG, DEFS, DEP_CFLAGS, DEP_LIBS
HARNESSES = resp keyname rdb rdb_file journal lua_reply
# harnesses calling modules that need server.c's globals
WITH_SERVER = rdb rdb_file lua_reply

SAN = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
CFLAGS_FUZZ = -g -O1 -fno-omit-frame-pointer $(SAN) -D_GNU_SOURCE $(DEFS) -I$(srcdir)/src $(DEP_CFLAGS) \
	-Wno-unused-command-line-argument
LDFLAGS_FUZZ = -fsanitize=fuzzer,address,undefined

obj = $(builddir)/tests/fuzz/obj
bin = $(builddir)/tests/fuzz
lib_c = $(filter %.c,$(LIB_SOURCES))
lib_objs = $(patsubst src/%.c,$(obj)/%.o,$(lib_c)) $(obj)/script_lua_sources.o
# no dependency tracking: any header change rebuilds everything
headers = $(wildcard $(srcdir)/src/*.h)

all: $(foreach h,$(HARNESSES),$(bin)/fuzz_$(h))

$(obj)/%.o: $(srcdir)/src/%.c $(headers)
	@mkdir -p $(obj)
	$(CLANG) $(CFLAGS_FUZZ) -c $< -o $@

$(obj)/script_lua_sources.o: $(builddir)/src/script_lua_sources.c
	@mkdir -p $(obj)
	$(CLANG) $(CFLAGS_FUZZ) -c $< -o $@

$(obj)/h_%.o: $(srcdir)/tests/fuzz/%.c $(srcdir)/tests/fuzz/fuzz.h $(headers) $(srcdir)/src/server.c
	@mkdir -p $(obj)
	$(CLANG) $(CFLAGS_FUZZ) -c $< -o $@

$(obj)/libdredis-fuzz.a: $(lib_objs)
	rm -f $@
	ar cr $@ $(lib_objs)

$(bin)/fuzz_%: $(obj)/h_fuzz_%.o $(obj)/libdredis-fuzz.a
	$(CLANG) $(LDFLAGS_FUZZ) $< $(if $(filter $*,$(WITH_SERVER)),$(obj)/h_server_nomain.o) \
		$(obj)/libdredis-fuzz.a $(DEP_LIBS) -lpthread -lm -o $@

$(foreach h,$(WITH_SERVER),$(bin)/fuzz_$(h)): $(obj)/h_server_nomain.o

.PHONY: all
.SECONDARY:
