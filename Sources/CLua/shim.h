#ifndef TWISTLOCK_INIT_CLUA_SHIM_H
#define TWISTLOCK_INIT_CLUA_SHIM_H
// Lua 5.4 for Swift: the real headers, plus inline functions for the API that Lua
// defines as macros (Swift cannot call C macros with arguments).
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>

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

// Host primitives are Swift functions. A Swift function must never raise a Lua error itself
// (lua_error longjmps, which would skip Swift frames). Instead the Swift callback returns
// CLUA_HOST_ERROR with the message on top of the stack, and this C trampoline raises it
// once the Swift frame has returned.
#define CLUA_HOST_ERROR (-1)
typedef int (*clua_host_fn)(lua_State *L);
static inline int clua_trampoline(lua_State *L) {
    clua_host_fn fn = (clua_host_fn)lua_touserdata(L, lua_upvalueindex(1));
    int n = fn(L);
    if (n == CLUA_HOST_ERROR) { return lua_error(L); }
    return n;
}
static inline void clua_pushhostfunction(lua_State *L, clua_host_fn fn, int nup) {
    // upvalue 1 is the Swift function pointer; further upvalues (nup of them, already on
    // the stack) follow it.
    lua_pushlightuserdata(L, (void *)fn);
    if (nup > 0) { lua_rotate(L, -(nup + 1), 1); }
    lua_pushcclosure(L, clua_trampoline, nup + 1);
}
#endif
