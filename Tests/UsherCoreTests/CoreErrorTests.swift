import Testing
import UsherCore

@Suite struct CoreErrorTests {
    @Test("only a policy denial is forbidden; bad input is a bad request")
    func kinds() {
        #expect(CoreError.forbiddenChannel.kind == .forbidden)
        for error in [
            CoreError.invalidSocketID, .invalidChannelName, .channelNameTooLong, .publicChannel, .invalidChannelData,
            .userIDTooLong, .userInfoTooLarge, .invalidUserInfo, .missingUserID, .invalidUserData,
        ] {
            #expect(error.kind == .badRequest, "\(error)")
        }
    }

    @Test("codes compare by identity and describe themselves with their message")
    func equality() {
        #expect(CoreError.invalidSocketID == .invalidSocketID)
        #expect(CoreError.invalidSocketID != .invalidChannelName)
        #expect(CoreError.userInfoTooLarge.description == CoreError.userInfoTooLarge.message)
        #expect(CoreError.invalidSocketID.message.contains("socket_id"))
    }
}
