// Issue 14 (secrets), 6.1.1.2.1: EncryptedFileSecrets, the agent's secret
// store on Android (sealed under a Keystore key there; an ordinary AES key
// here): values round-trip and survive a reopen, the file holds no
// plaintext, a value moved under another key or sealed under another key
// does not open, a damaged file is an error, keys and delete work.
package org.dmsched.android.core

import java.io.File
import java.nio.file.Files
import javax.crypto.KeyGenerator

fun secretsTests() {
    val dir = Files.createTempDirectory("dmsched-secrets").toFile()
    try {
        val file = File(dir, "dmsched.secrets")
        val gen = KeyGenerator.getInstance("AES").apply { init(256) }
        val key = gen.generateKey()
        val s = EncryptedFileSecrets(file, key)
        eq(s.keys().toList(), emptyList<String>(), "a missing file is an empty store")
        ok(!file.exists(), "nothing written before the first put")
        s.put("dmsched-tree-a", "password-4f1e".toByteArray())
        s.put("dmsched-tree-b", "nonce-99".toByteArray())
        s.put("dmsched-tree-a", "password-replaced".toByteArray())
        eq(s.get("dmsched-tree-a")?.let { String(it) }, "password-replaced", "the last put wins")
        eq(s.get("nothing"), null, "an absent key is null")
        val bytes = file.readText()
        ok(!bytes.contains("password") && !bytes.contains("nonce-99"), "no plaintext in the file")
        ok(!bytes.contains(java.util.Base64.getEncoder().encodeToString("password-replaced".toByteArray())), "nor its base64")

        val again = EncryptedFileSecrets(file, key)
        eq(again.keys().sorted(), listOf("dmsched-tree-a", "dmsched-tree-b"), "reopened: the keys")
        eq(again.get("dmsched-tree-b")?.let { String(it) }, "nonce-99", "reopened: the value")
        again.delete("dmsched-tree-b")
        again.delete("dmsched-tree-b") // absent: nothing to do
        eq(EncryptedFileSecrets(file, key).keys().toList(), listOf("dmsched-tree-a"), "deleted durably")

        throws<IllegalStateException>("sealed under another key") {
            EncryptedFileSecrets(file, gen.generateKey()).get("dmsched-tree-a")
        }
        // A value moved under another key's name does not open (the key is its AAD).
        val lines = file.readLines().toMutableList()
        val enc = java.util.Base64.getEncoder()
        val parts = lines[1].split(' ')
        lines[1] = listOf(enc.encodeToString("dmsched-tree-z".toByteArray()), parts[1], parts[2]).joinToString(" ")
        file.writeText(lines.joinToString("\n") + "\n")
        throws<IllegalStateException>("a value moved to another key") { EncryptedFileSecrets(file, key).get("dmsched-tree-z") }
        file.writeText("dmsched-secrets 1 AES-GCM\nnot base64 !\n")
        throws<IllegalStateException>("a damaged line") { EncryptedFileSecrets(file, key).keys() }
        file.writeText("{}")
        throws<IllegalStateException>("not a secret file") { EncryptedFileSecrets(file, key).keys() }
        ok(!File(dir, "dmsched.secrets.tmp").exists(), "no temporary file left behind")
    } finally {
        dir.deleteRecursively()
    }
}
