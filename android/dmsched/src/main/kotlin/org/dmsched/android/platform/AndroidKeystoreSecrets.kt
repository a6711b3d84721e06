// The agent's secret store on a handset: EncryptedFileSecrets in the app's
// no-backup directory, sealed under an AES-256-GCM key generated inside the
// Android Keystore (it never leaves secure hardware where the device has
// it). Not compiled here (no Android SDK on the build machine); the file
// format and sealing are tested on the host JVM (core/SecretsTest.kt).
package org.dmsched.android.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.dmsched.android.core.EncryptedFileSecrets

object AndroidKeystoreSecrets {
    /**
     * The store for `NativeAgent.open(…, secrets = …)`: `dmsched.secrets` in
     * [Context.getNoBackupFilesDir] (a restored backup must not carry
     * credentials bound to this device), sealed with the Keystore key [alias]
     * (created at first use). Losing the key (a factory reset of the
     * Keystore) makes the values unreadable: the agent then reports the
     * accounts' secrets as missing and the device needs bootstrapping again.
     */
    fun open(context: Context, alias: String = "org.dmsched.secrets"): EncryptedFileSecrets =
        EncryptedFileSecrets(File(context.noBackupFilesDir, "dmsched.secrets"), key(alias))

    private fun key(alias: String): SecretKey {
        val ks = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (ks.getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return gen.generateKey()
    }
}
