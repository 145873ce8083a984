/** The repository's root folder (absolute, no trailing separator). */
export declare const ROOT: string;
