// The agent's DM account secrets in one file, each value sealed with
// AES-GCM under a key the host holds — on a handset an Android Keystore key
// that never leaves secure hardware (platform/AndroidKeystoreSecrets). Pure
// Kotlin (javax.crypto), so the host JVM tests it with an ordinary AES key.
package org.dmsched.android.core

import java.io.File
import java.io.FileOutputStream
import java.nio.channels.FileChannel
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.nio.file.StandardOpenOption
import java.util.Base64
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.dmsched.jni.NativeSecretStore

/**
 * A [NativeSecretStore] (pass it to `NativeAgent.open(…, secrets = …)`) in
 * [file]: a header line, then one line per entry with the key, the GCM
 * nonce and the sealed value in base64. The key is the value's associated
 * data, so a value moved under another key does not open. Every change
 * rewrites the file whole (temporary file, fsync, atomic rename, fsync of
 * the directory) before it returns, as the agent requires of `put`. A
 * damaged file, a value sealed under another key or a key the Keystore lost
 * is an error naming the file, never a silently empty store.
 */
class EncryptedFileSecrets(private val file: File, private val key: SecretKey) : NativeSecretStore {
    private class Sealed(val iv: ByteArray, val value: ByteArray)

    private var entries: MutableMap<String, Sealed>? = null

    @Synchronized override fun get(key: String): ByteArray? {
        val sealed = load()[key] ?: return null
        return try {
            cipher(Cipher.DECRYPT_MODE, sealed.iv, key).doFinal(sealed.value)
        } catch (e: java.security.GeneralSecurityException) {
            throw IllegalStateException("$file: the value of $key does not open (damaged, or sealed with another key)", e)
        }
    }

    @Synchronized override fun put(key: String, value: ByteArray) {
        val c = cipher(Cipher.ENCRYPT_MODE, null, key)
        val next = HashMap(load())
        next[key] = Sealed(c.iv, c.doFinal(value))
        save(next)
    }

    @Synchronized override fun delete(key: String) {
        if (key !in load()) return
        val next = HashMap(load())
        next.remove(key)
        save(next)
    }

    @Synchronized override fun keys(): Array<String> = load().keys.toTypedArray()

    private fun cipher(mode: Int, iv: ByteArray?, entry: String): Cipher {
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        // Encrypting, the cipher draws a fresh nonce (the Keystore insists).
        if (iv == null) c.init(mode, key) else c.init(mode, key, GCMParameterSpec(128, iv))
        c.updateAAD(entry.toByteArray(Charsets.UTF_8))
        return c
    }

    private fun load(): MutableMap<String, Sealed> {
        entries?.let { return it }
        val map = HashMap<String, Sealed>()
        if (file.exists()) {
            val lines = file.readLines(Charsets.UTF_8)
            if (lines.firstOrNull() != HEADER) throw IllegalStateException("$file is not a dmsched secret file")
            val b64 = Base64.getDecoder()
            for ((n, line) in lines.drop(1).withIndex()) {
                if (line.isEmpty()) continue
                val parts = line.split(' ')
                try {
                    require(parts.size == 3)
                    map[String(b64.decode(parts[0]), Charsets.UTF_8)] = Sealed(b64.decode(parts[1]), b64.decode(parts[2]))
                } catch (e: IllegalArgumentException) {
                    throw IllegalStateException("$file: line ${n + 2} is damaged", e)
                }
            }
        }
        entries = map
        return map
    }

    private fun save(next: MutableMap<String, Sealed>) {
        val b64 = Base64.getEncoder()
        val text = buildString {
            append(HEADER).append('\n')
            for ((k, s) in next.toSortedMap()) {
                append(b64.encodeToString(k.toByteArray(Charsets.UTF_8))).append(' ')
                append(b64.encodeToString(s.iv)).append(' ')
                append(b64.encodeToString(s.value)).append('\n')
            }
        }
        file.parentFile?.mkdirs()
        val tmp = File(file.path + ".tmp")
        FileOutputStream(tmp).use { out ->
            out.write(text.toByteArray(Charsets.UTF_8))
            out.fd.sync()
        }
        tmp.setReadable(false, false); tmp.setReadable(true, true)
        tmp.setWritable(false, false); tmp.setWritable(true, true)
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
        // The rename itself durable (where a directory can be opened).
        try {
            FileChannel.open(file.absoluteFile.parentFile.toPath(), StandardOpenOption.READ).use { it.force(true) }
        } catch (_: java.io.IOException) {
        }
        entries = next
    }

    private companion object {
        const val HEADER = "dmsched-secrets 1 AES-GCM"
    }
}
