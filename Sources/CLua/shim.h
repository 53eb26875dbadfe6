#ifndef TWISTLOCK_INIT_CLUA_SHIM_H
#define TWISTLOCK_INIT_CLUA_SHIM_H
// Lua 5.4 for Swift: the real headers, plus inline functions for the API that Lua
// defines as macros (Swift cannot call C macros with arguments).
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <stdlib.h>

static inline void clua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void clua_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *clua_tostring(lua_State *L, int i) { return lua_tolstring(L, i, NULL); }
static inline lua_Number clua_tonumber(lua_State *L, int i) { return lua_tonumberx(L, i, NULL); }
static inline lua_Integer clua_tointeger(lua_State *L, int i) { return lua_tointegerx(L, i, NULL); }
static inline int clua_pcall(lua_State *L, int nargs, int nresults, int msgh) { return lua_pcallk(L, nargs, nresults, msgh, 0, NULL); }
static inline int clua_isnil(lua_State *L, int i) { return lua_type(L, i) == LUA_TNIL; }
static inline int clua_isnoneornil(lua_State *L, int i) { return lua_type(L, i) <= 0; }
static inline int clua_istable(lua_State *L, int i) { return lua_type(L, i) == LUA_TTABLE; }
static inline void clua_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcclosure(L, f, 0); }
static inline int clua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int clua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int clua_loadbuffer(lua_State *L, const char *buff, size_t sz, const char *name, const char *mode) { return luaL_loadbufferx(L, buff, sz, name, mode); }
static inline void clua_pushglobaltable(lua_State *L) { lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS); }
static inline void clua_insert(lua_State *L, int idx) { lua_rotate(L, idx, 1); }
static inline void clua_remove(lua_State *L, int idx) { lua_rotate(L, idx, -1); lua_pop(L, 1); }
static inline void clua_replace(lua_State *L, int idx) { lua_copy(L, -1, idx); lua_pop(L, 1); }
static inline void *clua_newuserdata(lua_State *L, size_t sz) { return lua_newuserdatauv(L, sz, 1); }
static inline int clua_yield_none(void) { return 0; }
static inline int clua_gc_collect(lua_State *L) { return lua_gc(L, LUA_GCCOLLECT); }

// Host primitives are Swift functions. A Swift function must never raise a Lua error itself
// (lua_error longjmps, which would skip Swift frames). Instead the Swift callback returns
// CLUA_HOST_ERROR with the message on top of the stack, and this C trampoline raises it
// once the Swift frame has returned.
#define CLUA_HOST_ERROR (-1)
typedef int (*clua_host_fn)(lua_State *L);

// The per-state bookkeeping of LuaHost: the memory ceiling (a counting allocator), the
// instruction budget and the interrupt flag (a count hook). It is the allocator's `ud`,
// so C code reaches it from any lua_State with lua_getallocf.
#define CLUA_FAIL_NONE 0
#define CLUA_FAIL_INSTRUCTIONS 1
#define CLUA_FAIL_INTERRUPT 2
#define CLUA_HOOK_GRANULARITY 1000
typedef struct clua_vmstate {
    size_t used;          // bytes currently allocated by the state
    size_t peak;          // the most `used` has been
    size_t limit;         // allocations that would exceed this fail (outside host functions)
    int refused;          // an allocation was refused since the flag was last cleared
    int host_depth;       // > 0 while a host (Swift) function runs: the limit is not enforced,
                          // so that no memory error can longjmp across Swift frames
    long long executed;   // instructions counted by the hook during this run
    long long budget;     // instruction budget of this run; < 0: none
    int granularity;      // the hook runs every `granularity` instructions
    int interrupt;        // set from any thread with clua_request_interrupt
    int failure;          // CLUA_FAIL_*: why the hook failed the run
} clua_vmstate;

static inline clua_vmstate *clua_state_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (clua_vmstate *)ud;
}

static inline void *clua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    clua_vmstate *s = (clua_vmstate *)ud;
    if (ptr == NULL) { osize = 0; }  // osize encodes the object type then
    if (nsize == 0) {
        free(ptr);
        s->used -= osize;
        return NULL;
    }
    if (nsize > osize && s->host_depth == 0 && (s->used + (nsize - osize) > s->limit || s->used + (nsize - osize) < s->used)) {
        s->refused = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) { return NULL; }
    s->used = s->used - osize + nsize;
    if (s->used > s->peak) { s->peak = s->used; }
    return p;
}

static inline lua_State *clua_newstate(clua_vmstate *s) { return lua_newstate(clua_alloc, s); }

static inline void clua_request_interrupt(clua_vmstate *s, int on) {
    __atomic_store_n(&s->interrupt, on, __ATOMIC_RELEASE);
}

static inline void clua_count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    clua_vmstate *s = clua_state_of(L);
    s->executed += s->granularity;
    if (s->failure == CLUA_FAIL_NONE) {
        if (__atomic_load_n(&s->interrupt, __ATOMIC_ACQUIRE)) {
            s->failure = CLUA_FAIL_INTERRUPT;
        } else if (s->budget >= 0 && s->executed > s->budget) {
            s->failure = CLUA_FAIL_INSTRUCTIONS;
        }
    }
    if (s->failure == CLUA_FAIL_NONE) { return; }
    // From now on fail at every instruction, so that pcall in the step cannot swallow it.
    if (s->granularity != 1) {
        s->granularity = 1;
        lua_sethook(L, clua_count_hook, LUA_MASKCOUNT, 1);
    }
    if (s->failure == CLUA_FAIL_INTERRUPT) {
        luaL_error(L, "interrupted");
    } else {
        luaL_error(L, "instruction limit of %I exceeded", (lua_Integer)s->budget);
    }
}

static inline void clua_install_hook(lua_State *L, long long budget) {
    clua_vmstate *s = clua_state_of(L);
    s->executed = 0;
    s->budget = budget;
    s->failure = CLUA_FAIL_NONE;
    s->granularity = CLUA_HOOK_GRANULARITY;
    if (budget >= 0 && budget < CLUA_HOOK_GRANULARITY) { s->granularity = budget > 0 ? (int)budget : 1; }
    lua_sethook(L, clua_count_hook, LUA_MASKCOUNT, s->granularity);
}

static inline void clua_remove_hook(lua_State *L) { lua_sethook(L, NULL, 0, 0); }

// The message handler of runs: turns any error value into a readable string and appends
// a traceback ("\nstack traceback:\n..."). The error value itself (a host error value is a
// table that says what it is) is kept in the registry at CLUA_ERROR_KEY for the host to read.
#define CLUA_ERROR_KEY "luahost.error"
static inline int clua_msghandler(lua_State *L) {
    const char *msg = NULL;
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, CLUA_ERROR_KEY);
    int t = lua_type(L, 1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        msg = lua_tostring(L, 1);
    } else if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        msg = lua_tostring(L, -1);
    } else {
        if (t == LUA_TTABLE) {
            lua_pushliteral(L, "message");
            lua_rawget(L, 1);
            if (lua_type(L, -1) == LUA_TSTRING) { msg = lua_tostring(L, -1); }
        }
        if (msg == NULL) {
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        }
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}
// The error value the last run's message handler saw (nil: none since it was cleared).
static inline void clua_push_error_value(lua_State *L) { lua_getfield(L, LUA_REGISTRYINDEX, CLUA_ERROR_KEY); }
static inline void clua_clear_error_value(lua_State *L) { lua_pushboolean(L, 0); lua_setfield(L, LUA_REGISTRYINDEX, CLUA_ERROR_KEY); }
static inline void clua_pushmsghandler(lua_State *L) { lua_pushcclosure(L, clua_msghandler, 0); }

static inline int clua_trampoline(lua_State *L) {
    clua_host_fn fn = (clua_host_fn)lua_touserdata(L, lua_upvalueindex(1));
    clua_vmstate *s = clua_state_of(L);
    s->host_depth += 1;
    int n = fn(L);
    s->host_depth -= 1;
    if (n == CLUA_HOST_ERROR) {
        // Where the host function was called from (e.g. "steps/users.lua:12: ").
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_rotate(L, -2, 1);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return n;
}
static inline int clua_host_error(void) { return CLUA_HOST_ERROR; }
static inline void clua_pushhostfunction(lua_State *L, clua_host_fn fn, int nup) {
    // upvalue 1 is the Swift function pointer; further upvalues (nup of them, already on
    // the stack) follow it.
    lua_pushlightuserdata(L, (void *)fn);
    if (nup > 0) { lua_rotate(L, -(nup + 1), 1); }
    lua_pushcclosure(L, clua_trampoline, nup + 1);
}
#endif
