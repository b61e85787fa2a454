/* crypto_lazy.c: dlopen("libcrypto.so.3") on the first digest call. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "crypto_lazy.h"

static struct {
	EVP_MD_CTX *(*ctx_new)(void);
	void (*ctx_free)(EVP_MD_CTX *);
	const EVP_MD *(*sha256)(void);
	int (*init)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
	int (*update)(EVP_MD_CTX *, const void *, size_t);
	int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
	int (*digest)(const void *, size_t, unsigned char *, unsigned int *,
	    const EVP_MD *, ENGINE *);
	int ok;
} lc;
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

static void *
sym(void *h, const char *name)
{
	return h ? dlsym(h, name) : NULL;
}

static void
load(void)
{
	void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);

	/* Function pointers from dlsym: POSIX guarantees the conversion. */
	*(void **)&lc.ctx_new = sym(h, "EVP_MD_CTX_new");
	*(void **)&lc.ctx_free = sym(h, "EVP_MD_CTX_free");
	*(void **)&lc.sha256 = sym(h, "EVP_sha256");
	*(void **)&lc.init = sym(h, "EVP_DigestInit_ex");
	*(void **)&lc.update = sym(h, "EVP_DigestUpdate");
	*(void **)&lc.final = sym(h, "EVP_DigestFinal_ex");
	*(void **)&lc.digest = sym(h, "EVP_Digest");
	lc.ok = lc.ctx_new && lc.ctx_free && lc.sha256 && lc.init &&
	    lc.update && lc.final && lc.digest;
}

static int
ready(void)
{
	(void)pthread_once(&lc_once, load);
	return lc.ok;
}

EVP_MD_CTX *
lazy_EVP_MD_CTX_new(void)
{
	return ready() ? lc.ctx_new() : NULL;
}

void
lazy_EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
	if (ctx != NULL && ready())
		lc.ctx_free(ctx);
}

const EVP_MD *
lazy_EVP_sha256(void)
{
	return ready() ? lc.sha256() : NULL;
}

int
lazy_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *md, ENGINE *e)
{
	return ready() && ctx && md ? lc.init(ctx, md, e) : 0;
}

int
lazy_EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t n)
{
	return ready() && ctx ? lc.update(ctx, d, n) : 0;
}

int
lazy_EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *n)
{
	return ready() && ctx ? lc.final(ctx, md, n) : 0;
}

int
lazy_EVP_Digest(const void *data, size_t count, unsigned char *md,
    unsigned int *size, const EVP_MD *type, ENGINE *impl)
{
	return ready() && type ? lc.digest(data, count, md, size, type, impl) : 0;
}
