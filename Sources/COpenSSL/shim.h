#ifndef USHER_COPENSSL_SHIM_H
#define USHER_COPENSSL_SHIM_H
// Tiny static inline shims for what Swift cannot call directly: macros (OPENSSL_free),
// OSSL_PARAM arrays and the OSSL_PARAM_BLD dance that builds public keys from JWK components.
// The low-level SHA256_* calls below are deprecated in OpenSSL 3 in favour of EVP, but they are the only way to
// copy a keyed HMAC state without a heap allocation per message (see usher_hmac_sha256_state).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <string.h>

static inline void usher_openssl_free(void *ptr) { OPENSSL_free(ptr); }

/// SHA-256 without a provider lookup per call (OpenSSL 3.0's one-shot SHA256() is EVP_Q_digest, which fetches by name).
static inline void usher_sha256(const unsigned char *data, size_t length, unsigned char out[32]) {
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data, length);
    SHA256_Final(out, &ctx);
}

/// HMAC-SHA256 (RFC 2104) with the key already absorbed: the SHA-256 states after hashing key^ipad and key^opad.
/// A message then costs two struct copies and two compressions of its own blocks, where re-arming an EVP_MAC
/// context duplicates a provider context (a malloc/free pair) every time.
typedef struct {
    SHA256_CTX inner;
    SHA256_CTX outer;
} usher_hmac_sha256_state;

/// Absorbs `key` (hashed first when longer than a block, as RFC 2104 says) into `state`.
static inline void usher_hmac_sha256_prepare(usher_hmac_sha256_state *state, const unsigned char *key, size_t key_len) {
    unsigned char block[SHA256_CBLOCK] = {0};
    if (key_len > SHA256_CBLOCK) {
        usher_sha256(key, key_len, block);
    } else if (key_len > 0) {
        memcpy(block, key, key_len);
    }
    unsigned char pad[SHA256_CBLOCK];
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&state->inner);
    SHA256_Update(&state->inner, pad, sizeof pad);
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&state->outer);
    SHA256_Update(&state->outer, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

/// The 32-byte HMAC of `message` under a prepared state; the state itself is only read (safe to share across threads).
static inline void usher_hmac_sha256(
    const usher_hmac_sha256_state *state, const unsigned char *message, size_t length, unsigned char out[32]
) {
    SHA256_CTX ctx = state->inner;
    unsigned char inner[SHA256_DIGEST_LENGTH];
    SHA256_Update(&ctx, message, length);
    SHA256_Final(inner, &ctx);
    ctx = state->outer;
    SHA256_Update(&ctx, inner, sizeof inner);
    SHA256_Final(out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    OPENSSL_cleanse(inner, sizeof inner);
}


static inline void usher_hmac_sha256_clear(usher_hmac_sha256_state *state) { OPENSSL_cleanse(state, sizeof *state); }

/// Builds a P-256 public key from the raw affine coordinates (32 bytes each).
static inline EVP_PKEY *usher_ec_p256_public_key(const unsigned char *x, const unsigned char *y) {
    unsigned char point[65];
    point[0] = 0x04;
    for (int i = 0; i < 32; i++) { point[1 + i] = x[i]; point[33 + i] = y[i]; }
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) return NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1) goto done;
    if (OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) != 1) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/// Builds an RSA public key from big-endian modulus and exponent bytes.
static inline EVP_PKEY *usher_rsa_public_key(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn_n == NULL || bn_e == NULL || bld == NULL) goto done;
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1) goto done;
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

/// The P-256 curve check for a loaded key: 1 when `pkey` is an EC key on prime256v1.
static inline int usher_is_p256(EVP_PKEY *pkey) {
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) return 0;
    char name[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return 0;
    return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

/// Generates a fresh signing key: 0 = P-256, 1 = RSA-2048, 2 = Ed25519 (EVP_PKEY_Q_keygen is variadic).
static inline EVP_PKEY *usher_generate_key(int kind) {
    switch (kind) {
    case 0: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case 1: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    case 2: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    default: return NULL;
    }
}

/// Bytes held by a memory BIO (BIO_get_mem_data is a macro).
static inline long usher_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

/// Big-endian bytes of a BIGNUM key parameter (RSA "n"/"e"); returns the length, 0 on failure. `out` may be NULL to size.
static inline int usher_pkey_bn_param(EVP_PKEY *pkey, const char *name, unsigned char *out, int capacity) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return 0;
    int length = BN_num_bytes(bn);
    if (out != NULL) {
        if (length > capacity) { BN_free(bn); return 0; }
        BN_bn2bin(bn, out);
    }
    BN_free(bn);
    return length;
}
#endif
